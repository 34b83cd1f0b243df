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


"""
The documentation's links lead somewhere: the READMEs and doc/*.md, as GitHub renders them.

Every relative link must name a file or folder of the repository that exists, and every
``#anchor`` (in the same page or in another Markdown page) a heading of that page, slugged as
GitHub slugs headings: lowercase, punctuation dropped, spaces to dashes, a repeated heading
numbered ``-1``, ``-2``. A link may not leave the repository. Links inside code are not links.
"""

from collections import Counter
from pathlib import Path
import re
from typing import List, Set, Tuple
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / 'README.md', ROOT / 'config' / 'README.md', *sorted((ROOT / 'doc').glob('*.md'))]
FENCE = re.compile(r'^ {0,3}(```|~~~)')
CODE_SPAN = re.compile(r'(`+)(?:(?!\1).)+?\1')
LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)')
HEADING = re.compile(r'^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$')


def prose(text: str) -> List[Tuple[int, str]]:
    """Return (line number, line) of a Markdown text's lines outside fenced code blocks."""
    lines, fenced = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if match and (fenced is None or match.group(1) == fenced):
            fenced = match.group(1) if fenced is None else None
        elif fenced is None:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading's text (before de-duplication)."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # a link's text stays
    text = re.sub(r'<[^>]+>', '', text).replace('`', '').lower()
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def anchors(path: Path) -> Set[str]:
    """Return the anchors of a Markdown page's headings, repeated ones numbered."""
    seen: Counter = Counter()
    found = set()
    for _, line in prose(path.read_text()):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            found.add(f'{base}-{seen[base]}' if seen[base] else base)
            seen[base] += 1
    return found


def links(path: Path) -> List[Tuple[int, str]]:
    """Return (line number, target) of every link in a page's prose."""
    found = []
    for number, line in prose(path.read_text()):
        for target in LINK.findall(CODE_SPAN.sub('', line)):
            found.append((number, target))
    return found


def broken(page: Path, target: str) -> str:
    """Return why a link of ``page`` leads nowhere, or '' when it leads somewhere."""
    if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I):
        return ''  # a URL (https:, mailto:): not checked here
    name, _, anchor = target.partition('#')
    file = (page.parent / unquote(name)).resolve() if name else page
    if not file.is_relative_to(ROOT):
        return f'{target}: outside the repository'
    if not file.exists():
        return f'{target}: no such file'
    if anchor and (file.suffix != '.md' or anchor not in anchors(file)):
        return f'{target}: no heading #{anchor} in {file.relative_to(ROOT)}'
    return ''


@pytest.mark.parametrize('page', PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_to_a_file_and_heading_of_the_repository(page):
    found = links(page)
    assert found or page.name != 'README.md', 'the README links to nothing'
    problems = [f'line {n}: {why}' for n, target in found if (why := broken(page, target))]
    assert not problems, '\n'.join(problems)


def test_every_documentation_page_is_linked_from_the_readme():
    linked = {(ROOT / unquote(t.partition('#')[0])).resolve()
              for _, t in links(ROOT / 'README.md')}
    assert set(PAGES[1:]) <= linked, sorted(p.name for p in set(PAGES[1:]) - linked)


@pytest.mark.parametrize('heading, anchor', [
    ('Bad input, memory and shutdown', 'bad-input-memory-and-shutdown'),
    ('The `deeplab` commands at a glance', 'the-deeplab-commands-at-a-glance'),
    ('One camera on flat ground (`geometry: ground_plane`)',
     'one-camera-on-flat-ground-geometry-ground_plane'),
    ('Pipeline vs. raw invoke', 'pipeline-vs-raw-invoke'),
    ('Models: `deeplab models`', 'models-deeplab-models'),
])
def test_headings_slug_as_github_slugs_them(heading, anchor):
    assert slug(heading) == anchor


def test_a_broken_file_or_anchor_is_found(tmp_path):
    page = ROOT / 'doc' / 'node.md'
    assert broken(page, 'navigation.md#nav2-semantic-segmentation-layer') == ''
    assert broken(page, '#lifecycle') == ''
    assert 'no such file' in broken(page, 'nowhere.md')
    assert 'no heading #no-such-heading' in broken(page, 'navigation.md#no-such-heading')
    assert 'no heading #parameter' in broken(page, '#parameter')
    assert 'outside the repository' in broken(page, '../../outside.md')
