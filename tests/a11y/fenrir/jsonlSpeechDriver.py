#!/usr/bin/python3
"""Fenrir speech driver that writes every utterance as one JSON line.

Copied from shared/reference/fenrir.

No synthesizer is involved: each call to speak() appends
    {"t": <unix time>, "text": "<what Fenrir would have spoken>"}
to the file named by the environment variable FENRIR_SPEECH_JSONL
(default /tmp/fenrir-speech.jsonl).  cancel() (speech interruption) is
logged as {"t": ..., "event": "cancel"} so a test can see interruptions,
but test code normally only looks at lines that have a "text" key.

Fenrir 1.9.x loads speech drivers from
    <fenrirscreenreader package>/speechDriver/<driver>.py
so the harness points [speech] driver= at this file with a relative path
("<relative path to jsonlSpeechDriver>"); nothing is copied
into the Debian package.  Modelled on speechDriver/debugDriver.py, which
prints to stdout instead (unusable in PTY mode: stdout *is* the terminal).
"""

import json
import os
import time

from fenrirscreenreader.core.speechDriver import speechDriver


class driver(speechDriver):
    def __init__(self):
        speechDriver.__init__(self)
        self.path = os.environ.get('FENRIR_SPEECH_JSONL', '/tmp/fenrir-speech.jsonl')

    def _write(self, record):
        record = dict(t=round(time.time(), 3), **record)
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record, ensure_ascii=False) + '\n')

    def initialize(self, environment):
        self.env = environment
        self._isInitialized = True

    def shutdown(self):
        self._isInitialized = False

    def speak(self, text, queueable=True):
        if not self._isInitialized:
            return
        self._write({'text': text})

    def cancel(self):
        if not self._isInitialized:
            return
        self._write({'event': 'cancel'})
