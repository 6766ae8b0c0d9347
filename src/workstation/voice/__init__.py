"""Offline voice input for reports: microphone capture, command grammar, dictation engines.

=============  ==============================================================
module         what it holds
=============  ==============================================================
``audio``      16 kHz int16 conversion, level in dBFS, silence trim, noise floor
``capture``    the microphone (sounddevice / PortAudio), failing with a message
``commands``   the spoken command grammar (JSGF) and its meaning
``engines``    PocketSphinx (bundled model), Vosk, whisper.cpp recognisers
``models``     the user's speech models: manifest and SHA-256 check
=============  ==============================================================

Nothing here imports Qt or reaches the network.
"""
