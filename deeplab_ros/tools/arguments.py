# Copyright 2026 deeplab_ros contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Argument types of the ``deeplab`` subcommands: numbers in a range, and sizes."""

import argparse
from typing import Callable, Optional, Tuple


def number(kind: type, what: str, low: Optional[float] = None,
           high: Optional[float] = None) -> Callable[[str], float]:
    """
    Return an argparse type that parses ``kind`` (int or float) from ``low`` to ``high``.

    :param what: What is expected, in words, for the error message (e.g. 'a whole number').
    """
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected {what}, not {text!r}') from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f'from {low:g} to {high:g}' if high is not None else f'at least {low:g}'
            raise argparse.ArgumentTypeError(f'must be {bounds}, not {text}')
        return value
    return parse


#: A positive whole number.
positive = number(int, 'a whole number', 1)
#: A number from 0 to 1.
fraction = number(float, 'a number from 0 to 1', 0.0, 1.0)
#: Seconds, not negative.
seconds = number(float, 'seconds', 0.0)


def size(text: str) -> Tuple[int, int]:
    """Parse WIDTHxHEIGHT."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected WIDTHxHEIGHT, e.g. 1280x720, not {text!r}') from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f'width and height must be positive: {text!r}')
    return width, height
