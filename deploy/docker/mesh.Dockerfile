# The `mesh` image: `mesh` (registry, ctl, the interception init step, everything) and
# `mesh-sidecar`, the sidecar alone compiled ahead of time (Native AOT), which `mesh inject` runs
# next to every pod. Build from the repository root:
#   docker build -f deploy/docker/mesh.Dockerfile -t mesh:0.1.0 .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# Native AOT links with clang and needs zlib.
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish src/Mesh.Cli -c Release -o /out \
    && dotnet publish src/Mesh.Sidecar.Native -c Release -r linux-x64 -o /out-native

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# iptables for `mesh iptables` (the init container), run as root there only.
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /opt/mesh
COPY --from=build /out-native/mesh-sidecar /usr/local/bin/mesh-sidecar
RUN printf '#!/bin/sh\nexec dotnet /opt/mesh/mesh.dll "$@"\n' > /usr/local/bin/mesh && chmod +x /usr/local/bin/mesh \
    && useradd --uid 1337 --no-create-home --shell /usr/sbin/nologin mesh
USER 1337
ENTRYPOINT ["mesh"]
