"""The speed tables of README.md and docs/speed.md are one bench run's report (docs/bench-cpu.json), rendered by
``smpconvnet bench --markdown``: every figure in them was measured together, on the code of that commit."""
import json
import re
from pathlib import Path

from smpconvnet.cli.bench import WORKLOADS, markdown_table

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = '<!-- bench table: smpconvnet bench --markdown docs/bench-cpu.json -->', '<!-- end of bench table -->'


def _block(text: str) -> str:
    match = re.search(re.escape(BEGIN) + r'\n(.*?)' + re.escape(END), text, re.S)
    assert match, f'no generated bench table between {BEGIN!r} and {END!r}'
    return match.group(1)


def test_speed_tables_are_one_runs_report():
    report = json.loads((ROOT / 'docs' / 'bench-cpu.json').read_text())
    assert not report['quick'] and report['reps'] >= 5
    assert set(WORKLOADS) <= {row['workload'] for row in report['rows']}
    table = markdown_table(report)
    for doc in ('README.md', 'docs/speed.md'):
        assert _block((ROOT / doc).read_text()) == table, f'{doc}: regenerate with smpconvnet bench --markdown'


def test_markdown_of_a_quick_report_is_refused(tmp_path):
    import pytest
    from smpconvnet.cli import bench
    path = tmp_path / 'quick.json'
    path.write_text(json.dumps({'quick': True, 'rows': []}))
    with pytest.raises(ValueError, match='--quick report measures nothing'):
        bench.main(['--markdown', str(path)])
    with pytest.raises(FileNotFoundError, match='--markdown: .*nope.json. is not a file'):
        bench.main(['--markdown', str(tmp_path / 'nope.json')])


def test_bench_arguments_are_checked_before_measuring(tmp_path):
    """Each bad argument is one clear error naming it, before anything is measured."""
    import pytest
    from smpconvnet.cli import bench
    bad = tmp_path / 'bad.json'
    for content in ('[1, 2]', '{"rows": "abc"}', 'not json'):
        bad.write_text(content)
        with pytest.raises(ValueError, match=f'--markdown: {bad} is not a report'):
            bench.main(['--markdown', str(bad)])
    with pytest.raises(ValueError, match='--markdown is empty'):  # it said "'' is a folder"
        bench.main(['--markdown', ''])
    for args, message in ((['--workloads', ','], "--workloads ','"), (['--threads', '0'], '--threads must be'),
                          (['--device', 'foo'], '--device must be cpu or cuda'),
                          (['--json', str(tmp_path), '--workloads', 'memory'], 'is a folder'),
                          (['--json', str(tmp_path / 'no' / 'x.json')], 'does not exist'),
                          (['--force'], '--force replaces the --json file: add --json PATH'),
                          (['--quick', '--json', ''], '--json is empty'),  # it measured and wrote nothing
                          (['--markdown', 'docs/bench-cpu.json', '--reps', '3', '--quick'],
                           '--markdown measures nothing, it prints the table of a --json report: --reps, --quick '
                           'would do nothing with it')):
        with pytest.raises(ValueError, match=re.escape(message)):
            bench.main(args)
    # an existing file (a user's notes) is replaced only with --force, which is refused before measuring
    notes = tmp_path / 'notes.txt'
    notes.write_text('mine')
    with pytest.raises(FileExistsError, match=f'--json {re.escape(str(notes))} exists; add --force to replace it'):
        bench.main(['--quick', '--workloads', 'memory', '--json', str(notes)])
    assert notes.read_text() == 'mine'
