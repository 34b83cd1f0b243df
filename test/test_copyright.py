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

"""Licence headers: ament_copyright where it is installed (ROS installs), else a direct check."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    try:
        from ament_copyright.main import main
    except ImportError:
        sources = [p for d in ('deeplab_ros', 'launch', 'test', 'benchmarks')
                   for p in (ROOT / d).rglob('*.py')] + [ROOT / 'setup.py']
        missing = [str(p.relative_to(ROOT)) for p in sources
                   if 'Licensed under the Apache License, Version 2.0' not in p.read_text()[:1000]]
        assert not missing, f"files without the Apache-2.0 header: {', '.join(missing)}"
        return
    assert main(argv=['.', 'test']) == 0, 'Found errors'
