#!/usr/bin/env bash
# callgrind.sh - instructions per operation of the core's hot paths, counted
# by valgrind --tool=callgrind (exact and stable, unlike time on a shared
# machine).  Run through make (docs/callgrind.md explains the scheme):
#
#   make -C csrc callgrind           print the table
#   make -C csrc callgrind-check     compare with docs/callgrind.txt
#   make -C csrc callgrind-update    rewrite docs/callgrind.txt
#
#   bench/callgrind.sh DRIVER [--iters N] [--ops "a b"] [--check FILE |
#                      --update FILE] [--tolerance PCT]
#
# For each op of DRIVER (bench/callgrind_ops.c) it runs `DRIVER op 0` and
# `DRIVER op N` under callgrind; Ir per op = (Ir(N) - Ir(0)) / N.  --check
# fails (exit 1) when an op costs more than the stored figure by more than
# the tolerance (default 3 %, and at least 2 instructions), and says so when
# one costs less by as much (the table is then worth updating).
set -euo pipefail

usage() {
    echo "usage: $0 DRIVER [--iters N] [--ops \"a b\"] [--check FILE |" \
         "--update FILE] [--tolerance PCT]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
driver=$1
shift
iters=20000
ops=""
mode=print
file=""
tolerance=3
while [ $# -gt 0 ]; do
    case $1 in
        --iters) iters=$2; shift 2 ;;
        --ops) ops=$2; shift 2 ;;
        --check) mode=check; file=$2; shift 2 ;;
        --update) mode=update; file=$2; shift 2 ;;
        --tolerance) tolerance=$2; shift 2 ;;
        *) usage ;;
    esac
done
command -v valgrind >/dev/null || { echo "$0: valgrind not found" >&2; exit 2; }
[ -x "$driver" ] || { echo "$0: no driver $driver" >&2; exit 2; }
[ -n "$ops" ] || ops=$("$driver" --list | cut -f1)
if [ "$mode" = check ] && [ ! -f "$file" ]; then
    echo "$0: no stored table $file (make callgrind-update)" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total Ir of one run of the driver.
ir() {
    local out=$tmp/cg.$1.$2
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$driver" "$1" "$2" >/dev/null 2>"$tmp/log" || {
        echo "$0: $driver $1 $2 failed:" >&2
        tail -n 5 "$tmp/log" >&2
        exit 1
    }
    awk '/^summary:/ { print $2; found = 1 }
         /^totals:/ && !found { t = $2 }
         END { if (!found) print t }' "$out"
}

table=$tmp/table
{
    echo "# Ir per operation: (Ir(op, $iters) - Ir(op, 0)) / $iters," \
         "bench/callgrind_ops.c under valgrind --tool=callgrind"
    echo "# $(valgrind --version), $(${CC:-cc} --version | head -n 1)," \
         "$(uname -m)"
    printf '%-22s %12s  %s\n' "# op" "Ir/op" "what"
} >"$table"
docs=$("$driver" --list)
for op in $ops; do
    base=$(ir "$op" 0)
    full=$(ir "$op" "$iters")
    per=$(awk -v a="$full" -v b="$base" -v n="$iters" \
        'BEGIN { printf "%.1f", (a - b) / n }')
    what=$(printf '%s\n' "$docs" | awk -F'\t' -v op="$op" '$1 == op { print $2 }')
    printf '%-22s %12s  %s\n' "$op" "$per" "$what" >>"$table"
done

case $mode in
    print)
        cat "$table" ;;
    update)
        cp "$table" "$file"
        cat "$table"
        echo "wrote $file" ;;
    check)
        cat "$table"
        awk -v tol="$tolerance" '
            FNR == NR { if ($1 !~ /^#/) stored[$1] = $2; next }
            $1 ~ /^#/ { next }
            !($1 in stored) { printf "new     %-22s %10s (not in the table)\n", $1, $2; next }
            {
                s = stored[$1]; d = $2 - s; lim = s * tol / 100
                if (lim < 2) lim = 2
                if (d > lim) { printf "WORSE   %-22s %10s stored %s (%+.1f%%)\n", $1, $2, s, 100 * d / s; bad++ }
                else if (-d > lim) printf "better  %-22s %10s stored %s (%+.1f%%): update the table\n", $1, $2, s, 100 * d / s
            }
            END {
                if (bad) { printf "callgrind: %d op(s) over the stored count by more than %s%%\n", bad, tol; exit 1 }
                print "callgrind: every op within " tol "% of the stored table (or cheaper)"
            }' "$file" "$table" ;;
esac
