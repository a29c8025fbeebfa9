#!/usr/bin/env python3
"""tests/bench/proxy/aot-size.py [--ns DEPTH] [--filter PREFIX] [--top N] [OBJ_DIR]

What the native mesh-sidecar is made of: the bytes of each assembly (or, with --ns, namespace)
compiled into it, from the ILC map file of a publish with the map on:

  dotnet publish src/Mesh.Sidecar.Native -c Release -r linux-x64 -p:IlcGenerateMapFile=true

OBJ_DIR defaults to artifacts/obj/Mesh.Sidecar.Native/release_linux-x64/native (the map file
mesh-sidecar.map.xml and ILC's response file mesh-sidecar.ilc.rsp, which lists the assemblies).
A node is credited to the assembly its mangled name starts with (a method to its type's
assembly, a generic instantiation to its definition's); the runtime's own tables (the compressed
type data, metadata, frozen objects, stack-trace data) belong to none and are listed by kind.
"""
import collections
import os
import re
import sys

args = sys.argv[1:]


def option(name, default):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return default


depth = int(option("--ns", "0"))
only = option("--filter", None)
top = int(option("--top", "40"))
folder = args[0] if args else "artifacts/obj/Mesh.Sidecar.Native/release_linux-x64/native"

assemblies = {"S_P_CoreLib", "S_P_TypeLoader", "S_P_StackTraceMetadata", "S_P_Reflection_Execution", "mesh_sidecar"}
for line in open(os.path.join(folder, "mesh-sidecar.ilc.rsp")):
    line = line.strip()
    path = line[3:] if line.startswith("-r:") else line if line and not line.startswith("-") else ""
    if path.endswith(".dll"):
        assemblies.add(os.path.basename(path)[:-4].replace(".", "_"))
by_length = sorted(assemblies, key=len, reverse=True)
# Prefixes the compiler puts before a type's or method's mangled name.
decoration = re.compile(r"(_ZTV\d+|_ZZ\d+|__[A-Za-z]+?_|_+|[A-Za-z]+_)")


def owner(name):
    rest = name
    for _ in range(4):
        for assembly in by_length:
            if rest.startswith(assembly + "_"):
                if depth:
                    return assembly + ":" + ".".join(rest[len(assembly) + 1:].split("_")[:depth])
                return assembly
        strip = decoration.match(rest)
        if not strip:
            break
        rest = rest[strip.end():]
    return None


node = re.compile(r'<(\w+) Name="([^"]*)" Length="(\d+)"')
total, code, unowned = collections.Counter(), collections.Counter(), collections.Counter()
for line in open(os.path.join(folder, "mesh-sidecar.map.xml")):
    m = node.search(line)
    if not m:
        continue
    kind, name, length = m.group(1), m.group(2), int(m.group(3))
    who = owner(name)
    if who is None:
        unowned[kind] += length
        continue
    if only and not who.startswith(only):
        continue
    total[who] += length
    if kind == "MethodCode":
        code[who] += length

print(f"{'assembly' if not depth else 'namespace':64} {'KB':>7} {'code KB':>8}")
for who, length in total.most_common(top):
    print(f"{who:64} {length / 1024:7.0f} {code[who] / 1024:8.0f}")
everything = f"(all {len(total)})"
print(f"{everything:64} {sum(total.values()) / 1024:7.0f} {sum(code.values()) / 1024:8.0f}")
if not only:
    print("the runtime's tables, by kind:")
    for kind, length in unowned.most_common(8):
        print(f"  {kind:62} {length / 1024:7.0f}")
