# Sourced by scripts/test: a private PulseAudio server with null sinks for the device tests.
# shellcheck shell=bash
#
# The tests then run real streams without sound hardware and without touching the
# user's own sound server. Two rooms: `attune_room` (16 kHz mono, the default) and
# `attune_room48` (48 kHz stereo, what a desktop's PulseAudio usually runs at, where an
# ALSA stream's underrun goes differently); a client picks the second with
# PULSE_SINK=attune_room48 PULSE_SOURCE=attune_room48.monitor.
#
#   attune_pulse_start DIR   # start it; exports the environment the tests need
#   attune_pulse_stop        # stop it (call from an EXIT trap)
#
# Everything lives under DIR: the server's socket and state, and an asoundrc that
# sends ALSA's `default` device (what PortAudio opens) to this server. The user's own
# PulseAudio or PipeWire keeps running untouched: nothing here uses its socket.

ATTUNE_PULSE_SINK=attune_room
ATTUNE_PULSE_SINK48=attune_room48
ATTUNE_PULSE_PID=""

# Returns 2 when there is no pulseaudio program at all (a PipeWire machine), 1 when
# it is there but does not come up.
attune_pulse_start() {
    local dir=$1
    local runtime="$dir/runtime" tries
    if ! command -v pulseaudio >/dev/null 2>&1 || ! command -v pactl >/dev/null 2>&1; then
        return 2
    fi
    mkdir -p "$runtime/pulse" "$dir/config/alsa" "$dir/config/pulse" "$dir/pulse-state"
    # PulseAudio refuses a runtime directory that other users can enter.
    chmod 700 "$runtime"

    export XDG_RUNTIME_DIR="$runtime"
    export PULSE_RUNTIME_PATH="$runtime/pulse"
    export PULSE_STATE_PATH="$dir/pulse-state"
    # Also where ALSA reads an asoundrc from (alsa-lib >= 1.2.3) and the server its cookie.
    export XDG_CONFIG_HOME="$dir/config"
    # An explicit server: clients never look for (or autospawn) the user's own.
    export PULSE_SERVER="unix:$runtime/pulse/native"

    cat >"$dir/config/alsa/asoundrc" <<EOF
# Written by scripts/test: ALSA clients in the tests talk to the private server.
pcm.!default {
    type pulse
    hint { show on description "attune test server" }
}
ctl.!default {
    type pulse
}
pcm.attune_monitor {
    type pulse
    device "$ATTUNE_PULSE_SINK.monitor"
    hint { show on description "attune test: what the null sink plays" }
}
pcm.room48_monitor {
    type pulse
    device "$ATTUNE_PULSE_SINK48.monitor"
    hint { show on description "attune test: what the 48 kHz null sink plays" }
}
EOF

    # Without a session bus the server skips its D-Bus names; with one, a user server
    # already owning org.PulseAudio1 would make this one quit at start. DISPLAY would
    # let libdbus autolaunch a bus through X11.
    env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY -u WAYLAND_DISPLAY \
        pulseaudio --daemonize=no --system=no --use-pid-file=no -n \
        --exit-idle-time=-1 --disallow-exit=yes \
        --realtime=no --high-priority=no --no-cpu-limit=yes \
        --log-target=stderr \
        --load="module-native-protocol-unix auth-anonymous=1 socket=$runtime/pulse/native" \
        --load="module-null-sink sink_name=$ATTUNE_PULSE_SINK rate=16000 channels=1 \
sink_properties=device.description=attune_room" \
        --load="module-null-sink sink_name=$ATTUNE_PULSE_SINK48 rate=48000 channels=2 \
sink_properties=device.description=attune_room48" \
        </dev/null >"$dir/pulseaudio.log" 2>&1 &
    ATTUNE_PULSE_PID=$!

    for ((tries = 0; tries < 100; tries++)); do
        if pactl info >/dev/null 2>&1; then
            break
        fi
        if ! kill -0 "$ATTUNE_PULSE_PID" 2>/dev/null; then
            tries=100
            break
        fi
        sleep 0.1
    done
    if ((tries >= 100)) ||
        ! pactl set-default-sink "$ATTUNE_PULSE_SINK" ||
        ! pactl set-default-source "$ATTUNE_PULSE_SINK.monitor"; then
        printf 'scripts/test: the private PulseAudio server did not start; its log:\n' >&2
        sed 's/^/    /' "$dir/pulseaudio.log" >&2
        attune_pulse_stop
        return 1
    fi
    export ATTUNE_TEST_PULSE=1
    export ATTUNE_TEST_SINK48="$ATTUNE_PULSE_SINK48"
    # For the test that freezes the server to leave a stream start blocked.
    export ATTUNE_TEST_PULSE_PID="$ATTUNE_PULSE_PID"
}

attune_pulse_stop() {
    local pid=$ATTUNE_PULSE_PID tries
    [[ -n $pid ]] || return 0
    ATTUNE_PULSE_PID=""
    kill "$pid" 2>/dev/null || return 0
    for ((tries = 0; tries < 50; tries++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
