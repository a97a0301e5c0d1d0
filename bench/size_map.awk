# Sums a GNU ld map's input sections by where they came from: the project's folders
# (weights/, tokenizer/, simd/, src/api ...) and the runtime archives (libstdc++, libgomp,
# libc ...). Prints "group code eh" lines: code = what lands in the output .text, eh =
# .eh_frame + .gcc_except_table (unwind tables; C++ exceptions need them); tab-separated.
# Input: the part of the map after "Linker script and memory map" (bench/size.sh).
function group(file,   g, n, parts) {
    if (file ~ /\.a\(/) {                                  # an archive member: name the library
        g = file; sub(/\(.*$/, "", g); sub(/^.*\//, "", g); sub(/\.a$/, "", g); sub(/-[0-9.]+$/, "", g)
        if (g == "libm" || g == "libc" || g == "libpthread" || g == "libdl" || g == "libmvec") return "libc, libm"
        if (g == "libgcc" || g == "libgcc_eh") return "libgcc"
        return g
    }
    if (file ~ /crt[^\/]*\.o$/) return "libgcc"              # crt1.o, crti.o, crtbegin.o ...
    n = split(file, parts, "/")
    for (i = 1; i < n; i++) {                               # BUILD/weights/x.o, BUILD/src/cli/x.o
        if (parts[i] == "src" && i + 1 < n) return "src/" parts[i + 1]
        if (parts[i] == "weights" || parts[i] == "tokenizer" || parts[i] == "simd") return parts[i]
    }
    return "other"
}
function hex(s,   v, i, c) {                                  # "0x1f" -> 31 (POSIX awk has no strtonum)
    v = 0; s = tolower(substr(s, 3))
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
    return v
}
function add(name, size, file) {
    if (out == ".text") code[group(file)] += size
    else if (out == ".eh_frame" || out == ".gcc_except_table") eh[group(file)] += size
}
/^[^ ]/ { out = $1; pending = ""; next }                   # an output section starts
/^ \.[^ ]*$/ { pending = $1; next }                        # an input section name alone: its numbers follow
/^ +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]/ && pending != "" {     # ... here
    add(pending, hex($2), $3); pending = ""; next
}
/^ \.[^ ]+ +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]/ { add($1, hex($3), $4); pending = ""; next }
{ pending = "" }
END {
    OFS = "\t"
    for (g in code) print g, code[g], eh[g] + 0
    for (g in eh) if (!(g in code)) print g, 0, eh[g]
}
