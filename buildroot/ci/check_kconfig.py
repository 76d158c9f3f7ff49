"""Parses CoPi's BR2_EXTERNAL tree with kconfiglib against buildroot-stub.in (Buildroot's
symbols that the tree uses) and loads each defconfig. Fails on any Kconfig syntax error,
any reference to an undefined symbol, any defconfig line naming an unknown symbol, and any
assignment that does not take effect (an unmet `depends on`).

    python3 check_kconfig.py EXTERNAL_DIR [DEFCONFIG...]

Without DEFCONFIG, checks EXTERNAL_DIR/configs/*_defconfig.
"""

import glob
import os
import re
import sys
import tempfile

import kconfiglib

LINE = re.compile(r'^(?:(BR2_\w+)=(.*)|# (BR2_\w+) is not set|#.*|)$')


def fail(errors):
    for e in errors:
        print(f"check-kconfig: {e}", file=sys.stderr)
    sys.exit(1)


def parse(external):
    os.environ["BR2_EXTERNAL_COPI_PATH"] = external
    # Undefined symbols referenced anywhere (a `depends on` typo) become warnings.
    os.environ["KCONFIG_WARN_UNDEF"] = "y"
    # Buildroot names its symbols BR2_FOO and writes them without a prefix (BR2_FOO=y).
    os.environ["CONFIG_"] = ""
    stub = os.path.join(os.path.dirname(os.path.abspath(__file__)), "buildroot-stub.in")
    stub = os.path.abspath(stub)
    try:
        kconf = kconfiglib.Kconfig(stub, warn_to_stderr=False)
    except kconfiglib.KconfigError as e:
        fail([f"Kconfig error: {e}"])
    kconf.warn_assign_undef = True
    errors = [f"warning while parsing: {w}" for w in kconf.warnings]
    if errors:
        fail(errors)
    external_syms = sorted(
        s.name for s in kconf.unique_defined_syms
        if any(os.path.abspath(n.filename) != stub for n in s.nodes)
    )
    return kconf, external_syms


def check_defconfig(kconf, path):
    errors = []
    wanted = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = LINE.match(line)
            if not m:
                errors.append(f"{path}:{number}: not a defconfig line: {line!r}")
                continue
            name = m.group(1) or m.group(3)
            if not name:
                continue
            if name not in kconf.syms or not kconf.syms[name].nodes:
                errors.append(f"{path}:{number}: unknown symbol {name} (a typo, or add it to "
                              "buildroot/ci/buildroot-stub.in after checking Buildroot)")
                continue
            value = m.group(2) if m.group(1) else "n"
            if value.startswith('"'):
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            wanted[name] = (number, value)
    if errors:
        return errors
    # Only the assignments: with Buildroot's empty symbol prefix, kconfiglib would read a
    # comment holding "=" as one.
    kept = [line for line in open(path, encoding="utf-8") if not line.startswith("#")
            or line.rstrip().endswith(" is not set")]
    with tempfile.NamedTemporaryFile("w", suffix="_defconfig", delete=False) as tmp:
        tmp.writelines(kept)
    kconf.warnings.clear()
    try:
        kconf.load_config(tmp.name)
    finally:
        os.unlink(tmp.name)
    errors += [f"{path}: {w}" for w in kconf.warnings]
    for name, (number, value) in wanted.items():
        got = kconf.syms[name].str_value
        if got != value:
            errors.append(f"{path}:{number}: {name}={value!r} does not take effect (got {got!r}): "
                          "an unmet dependency?")
    return errors


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    external = os.path.abspath(sys.argv[1])
    defconfigs = sys.argv[2:] or sorted(glob.glob(os.path.join(external, "configs", "*_defconfig")))
    kconf, external_syms = parse(external)
    print(f"check-kconfig: parsed {external}/Config.in: {', '.join(external_syms)}")
    if not defconfigs:
        fail([f"no defconfig in {external}/configs"])
    errors = []
    for path in defconfigs:
        found = check_defconfig(kconf, path)
        errors += found
        if not found:
            print(f"check-kconfig: ok {os.path.basename(path)}")
    if errors:
        fail(errors)


if __name__ == "__main__":
    main()
