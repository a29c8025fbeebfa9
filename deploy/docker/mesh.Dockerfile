# The `mesh` image: one binary for registry, sidecar, ctl and the interception init step.
# Build from the repository root: docker build -f deploy/docker/mesh.Dockerfile -t mesh:0.1.0 .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Mesh.Cli -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# iptables for `mesh iptables` (the init container), run as root there only.
RUN apt-get update && apt-get install -y --no-install-recommends iptables iproute2 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /opt/mesh
RUN printf '#!/bin/sh\nexec dotnet /opt/mesh/mesh.dll "$@"\n' > /usr/local/bin/mesh && chmod +x /usr/local/bin/mesh \
    && useradd --uid 1337 --no-create-home --shell /usr/sbin/nologin mesh
USER 1337
ENTRYPOINT ["mesh"]
