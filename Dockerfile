# syntax=docker/dockerfile:1
# Multi-stage build of src/Api: restore in its own layer, publish, run as the image's non-root user on 8080.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Api/Api.csproj src/Api/
COPY src/Scalekit.Emulator/Scalekit.Emulator.csproj src/Scalekit.Emulator/
RUN dotnet restore src/Api/Api.csproj
COPY appsettings.json ./
COPY src/ src/
RUN dotnet publish src/Api/Api.csproj --configuration Release --no-restore --output /app

# The local Scalekit emulator, for deploy/compose.yaml only (docker build --target emulator).
FROM build AS emulator-build
RUN dotnet publish src/Scalekit.Emulator/Scalekit.Emulator.csproj --configuration Release --output /emulator

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS emulator
WORKDIR /emulator
COPY --from=emulator-build /emulator ./
USER $APP_UID
ENTRYPOINT ["dotnet", "Scalekit.Emulator.dll", "--port", "5380"]

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS final
WORKDIR /app
# Production: the local emulator never starts; Scalekit__* settings are required.
ENV ASPNETCORE_ENVIRONMENT=Production \
    ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
COPY --from=build /app ./
USER $APP_UID
ENTRYPOINT ["dotnet", "Api.dll"]
