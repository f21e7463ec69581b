

def test_function_fingerprint_is_stable_across_processes_with_nested_code(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "fp.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2] / 'src')!r})\n"
        "from gendesign.core.objective import FunctionObjective\n"
        "def f(xs):\n"
        "    return [sum(1 for c in x if c == 'A') for x in xs]\n"
        "print(FunctionObjective(f).fingerprint())\n"
    )
    prints = {subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout for _ in range(2)}
    assert len(prints) == 1, "a generator expression's code address must not enter the fingerprint (a resume would be refused)"
