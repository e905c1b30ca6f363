# Sourced by scripts/serve, scripts/test and scripts/test-lowest: install into a virtualenv only
# when what it was installed from changed.
#
#   install_once VENV "what" FILE... -- PIP_ARGS...
#
# The stamp VENV/.automatos-install-stamp holds a hash of the listed files (pyproject.toml, the
# lock file…) and of the pip arguments. Same hash: nothing is installed (no pip run, no setuptools
# build, a second or so saved per start, eight on a slow disk). Different or missing: pip runs —
# with its progress shown the first time (a fresh install downloads for minutes; silence would
# look like a hang), quietly afterwards — and the stamp is written only once it succeeded.
# AUTOMATOS_REINSTALL=1 forces a run.

install_once() {
  local venv=$1 what=$2
  shift 2
  local files=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  local stamp="$venv/.automatos-install-stamp"
  local hash
  hash=$( { cat "${files[@]}"; printf '%s\n' "$@"; } | sha256sum | cut -d' ' -f1)
  if [ "${AUTOMATOS_REINSTALL:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    return 0
  fi
  local quiet=()
  if [ -f "$stamp" ]; then
    quiet=(--quiet)
    echo "== installing $what (the project or its lock changed)" >&2
  else
    echo "== installing $what into $venv (first time: this downloads, it takes a few minutes)" >&2
  fi
  "$venv/bin/python" -m pip install "${quiet[@]}" --upgrade pip
  "$venv/bin/python" -m pip install "${quiet[@]}" "$@"
  echo "$hash" > "$stamp"
}

ensure_venv() {
  local venv=$1
  if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
  fi
}
