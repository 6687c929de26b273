#!/bin/sh
# build.sh: builds the wasm2c simulation of the intermittent host (main_wasm2c.c) for one
# compiled model, so the host loop of pj_host.c runs for real with simulated power
# failures. It translates <model-dir>/model.wasm to C with wabt's wasm2c, finds which of
# wasm2c's two naming schemes it got (wabt 1.0.33 renamed Z_model... to w2c_model...), and
# compiles the host, the translated module and wasm2c's runtime with gcc (or $CC).
#
#   sh examples/wamr-host/build.sh <model-dir> [output-binary]
#   <output-binary> --input in.bin --every         (see main_wasm2c.c for the options)
#
# <model-dir> is a `picojoule compile ... --intermittent ... -o <model-dir>` folder (model.wasm
# and model.h). Environment: CC (gcc), WASM2C (wasm2c), WASM2C_RUNTIME (the folder with
# wasm-rt-impl.c; Debian's wabt puts it in /usr/share/wabt/wasm2c), CFLAGS (-O2).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 <model-dir> [output-binary]" >&2; exit 2; }
dir=$(cd "$1" && pwd)
out=${2:-$dir/pj_wasm2c}
CC=${CC:-gcc}
WASM2C=${WASM2C:-wasm2c}
CFLAGS=${CFLAGS:--O2}
rt=${WASM2C_RUNTIME:-}
if [ -z "$rt" ]; then
  for d in /usr/share/wabt/wasm2c /usr/local/share/wabt/wasm2c; do
    [ -f "$d/wasm-rt-impl.c" ] && { rt=$d; break; }
  done
fi
[ -n "$rt" ] && [ -f "$rt/wasm-rt-impl.c" ] || { echo "$0: wasm-rt-impl.c not found; set WASM2C_RUNTIME (Debian: apt-get install wabt)" >&2; exit 2; }
[ -f "$dir/model.wasm" ] && [ -f "$dir/model.h" ] || { echo "$0: $dir has no model.wasm and model.h" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# the module as C: model_w2c.c and model_w2c.h, every symbol prefixed by the name "model"
"$WASM2C" "$dir/model.wasm" -n model -o "$work/model_w2c.c"
if grep -q 'wasm2c_model_instantiate' "$work/model_w2c.h"; then names=1
elif grep -q 'Z_model_instantiate' "$work/model_w2c.h"; then names=0
else echo "$0: $WASM2C wrote neither wasm2c_model_instantiate nor Z_model_instantiate: an unknown wasm2c version" >&2; exit 1
fi

# the runtime: wasm-rt-impl.c, and the memory part that newer wabt splits out
runtime="$rt/wasm-rt-impl.c"
[ -f "$rt/wasm-rt-mem-impl.c" ] && runtime="$runtime $rt/wasm-rt-mem-impl.c"

# Bounds checks in code rather than by guard pages and a SIGSEGV handler: portable, and no
# 8 GiB address-space reservation for every one of the many instantiations. The flags after
# it keep gcc's optimizer within WebAssembly's semantics (wabt's wasm2c/README.md).
defs="-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"
wflags="-fno-optimize-sibling-calls -frounding-math -fsignaling-nans"
inc="-I$work -I$dir -I$rt -I$here"

# wabt's generated code and runtime need GNU/POSIX extensions; the host is strict C99
# shellcheck disable=SC2086
$CC $CFLAGS $wflags $defs $inc -w -c "$work/model_w2c.c" -o "$work/model_w2c.o"
n=0
for f in $runtime; do
  # shellcheck disable=SC2086
  $CC $CFLAGS $wflags $defs $inc -w -c "$f" -o "$work/rt$n.o"
  n=$((n + 1))
done
# shellcheck disable=SC2086
$CC $CFLAGS -std=c99 -Wall -Wextra -pedantic $defs $inc -c "$here/pj_host.c" -o "$work/pj_host.o"
# shellcheck disable=SC2086
$CC $CFLAGS -std=c99 -Wall -Wextra $defs -DPJ_W2C_NEW_NAMES=$names $inc -c "$here/main_wasm2c.c" -o "$work/main.o"
# shellcheck disable=SC2086
$CC $CFLAGS "$work"/*.o -lm -o "$out"
echo "$out"
