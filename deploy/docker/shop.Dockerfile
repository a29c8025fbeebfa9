# The Shop sample services (frontend, catalog, inventory) in one image; pick with --service.
# Build from the repository root: docker build -f deploy/docker/shop.Dockerfile -t mesh-shop:0.1.0 .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish samples/Shop -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
COPY --from=build /out /opt/shop
USER 1000
ENTRYPOINT ["dotnet", "/opt/shop/shop.dll"]
