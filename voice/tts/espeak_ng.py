"""Minimal ctypes binding to libespeak-ng (the `speak_lib.h` API) as bundled by `espeakng-loader`.

espeak-ng keeps its state in process globals, so there must be one `EspeakNg` per process and all
of its methods must be called from one thread at a time. `voice.tts.local` owns that thread.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import espeakng_loader

# Values from speak_lib.h.
AUDIO_OUTPUT_SYNCHRONOUS = 2  # synthesize on the calling thread, audio handed to the callback
POS_CHARACTER = 1
CHARS_UTF8 = 1
PARAM_RATE = 1  # espeakRATE, words per minute
INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit() when data is missing
EE_OK = 0
EE_NOT_FOUND = 2

MIN_RATE_WPM = 80
MAX_RATE_WPM = 450

# int callback(short *wav, int numsamples, espeak_EVENT *events); wav as a raw address (no wrapping
# needed, we copy it out with string_at) and events ignored.
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)

SynthSink = Callable[[bytes], bool]
"""Receives native-rate PCM16 chunks; returns False to abort synthesis."""


class EspeakError(RuntimeError):
    pass


class EspeakNg:
    """The process-global espeak-ng engine in synchronous mode. Not thread-safe."""

    def __init__(
        self,
        library_path: str | None = None,
        data_path: str | None = None,
        buffer_ms: int = 100,
    ) -> None:
        lib = ctypes.CDLL(library_path or espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size in bytes, including the terminator
            ctypes.c_uint,  # position
            ctypes.c_int,  # position type
            ctypes.c_uint,  # end position (0: none)
            ctypes.c_uint,  # flags
            ctypes.c_void_p,  # unique identifier out
            ctypes.c_void_p,  # user data
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        self._lib = lib

        data = (data_path or espeakng_loader.get_data_path()).encode()
        # buffer_ms sets how much audio is handed to the callback at a time (the streaming chunk size).
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, buffer_ms, data, INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed ({rate}) with data at {data.decode()}")
        self.sample_rate: int = rate

        self._sink: SynthSink | None = None
        self._sink_error: BaseException | None = None
        # Keep a reference: ctypes frees the trampoline when the Python object dies.
        self._callback = _SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)

    def set_voice(self, name: str) -> None:
        result = self._lib.espeak_SetVoiceByName(name.encode())
        if result == EE_NOT_FOUND:
            raise ValueError(f"unknown espeak-ng voice {name!r}")
        if result != EE_OK:
            raise EspeakError(f"espeak_SetVoiceByName({name!r}) failed ({result})")

    def set_rate(self, words_per_minute: int) -> None:
        result = self._lib.espeak_SetParameter(PARAM_RATE, words_per_minute, 0)
        if result != EE_OK:
            raise EspeakError(f"espeak_SetParameter(rate={words_per_minute}) failed ({result})")

    def synth(self, text: str, sink: SynthSink) -> None:
        """Synthesize `text` (plain text, not SSML), blocking, feeding native-rate PCM16 to `sink`.

        Returns early if `sink` returns False. Exceptions raised by `sink` abort and are re-raised here.
        """
        encoded = text.encode("utf-8") + b"\0"
        lib = self._lib
        self._sink, self._sink_error = sink, None
        try:
            result = lib.espeak_Synth(encoded, len(encoded), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        finally:
            self._sink = None
        if self._sink_error is not None:
            error, self._sink_error = self._sink_error, None
            raise error
        if result != EE_OK:
            raise EspeakError(f"espeak_Synth failed ({result})")

    def _on_audio(self, wav: int | None, num_samples: int, _events: int | None) -> int:
        # Called by espeak on the synthesizing thread; 0 continues, 1 aborts.
        if num_samples <= 0 or not wav or self._sink is None:
            return 0  # the final call of an utterance carries no audio
        try:
            return 0 if self._sink(ctypes.string_at(wav, num_samples * 2)) else 1
        except BaseException as error:  # must not unwind through C
            self._sink_error = error
            return 1
