# syntax=docker/dockerfile:1
#
# Parley server image: a static binary on distroless (CA certificates,
# tzdata, /etc/passwd with the nonroot user; no shell, no package manager).
#
#   docker build -t parley --build-arg VERSION=$(git describe --tags --always --dirty) .
#   docker run -p 8080:8080 -v parley-data:/data parley
#
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 .
# (the Go compiler cross-compiles on the build machine; no emulation).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w -X github.com/parleyim/parley/internal/server.Version=${VERSION}" \
      -o /out/parley ./cmd/parley \
 && mkdir -p /out/data

# :nonroot runs as uid/gid 65532 and ships /etc/ssl/certs/ca-certificates.crt,
# which the S3 client, FCM and APNs need for outbound HTTPS.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /usr/local/bin/parley
# An empty /data owned by the nonroot user: a named volume mounted there
# starts with this ownership. A bind mount must be writable by uid 65532.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The environment outranks a config file (defaults < file < environment <
# flags), so these two are changed with -e PARLEY_LISTEN=... / PARLEY_DATA=...,
# not in parley.toml. Everything else can come from a file
# (PARLEY_CONFIG=/etc/parley/parley.toml) or from PARLEY_* variables.
ENV PARLEY_LISTEN=0.0.0.0:8080 \
    PARLEY_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
# No HEALTHCHECK: distroless has no shell, curl or wget, and parley has no
# subcommand that probes a server. Orchestrators probe over HTTP instead:
# GET /healthz (the process is up) and GET /readyz (takes traffic; 503 while
# draining or when the database or NATS is unreachable).
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve"]
