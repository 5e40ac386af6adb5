# Huddle in a FROM scratch image: one static binary, CA certificates, no
# shell, no package manager, no base image to download. Build it from the
# context that `make docker-context` (scripts/docker-context.sh) prepares
# in dist/docker:
#
#   make docker-context
#   docker build -t huddle -f Dockerfile dist/docker
#   docker run --network host -v huddle-data:/data huddle --public-url https://meet.example.com
#
# The server's flags are the container's command, or HUDDLE_* variables.
FROM scratch

# CA certificates from the build host, for ACME and webhooks over HTTPS.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# A passwd entry for the user below, and its writable folders: /data for
# recordings, ACME certificates and the chat's files (a volume), /tmp for Go's temp files.
COPY passwd group /etc/
COPY --chown=65532:65532 data /data
COPY --chown=65532:65532 tmp /tmp
COPY huddle /huddle

# Never root. A user cannot bind ports below 1024 (Docker gives it no
# ambient capabilities): the server listens on 8080, behind a reverse proxy.
USER 65532:65532
WORKDIR /data
VOLUME /data

ENV HUDDLE_ADDR=:8080 \
    HUDDLE_RECORDINGS_DIR=/data/recordings \
    HUDDLE_CHAT_FILES_DIR=/data \
    HUDDLE_ACME_CACHE=/data/certs \
    HUDDLE_RECORDING_FFMPEG=-

# Web app and signaling; STUN/TURN on UDP and TCP; the relay's and the
# SFU's media ports are wide UDP ranges: use --network host (or publish
# the ranges set with --turn-min-port/--turn-max-port, --sfu-min-port/--sfu-max-port).
EXPOSE 8080/tcp 3478/udp 3478/tcp

# No shell in the image: the binary checks itself (GET /healthz over loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/huddle", "healthcheck"]

ENTRYPOINT ["/huddle"]
