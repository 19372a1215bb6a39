# Multi-stage build: compile with cargo, run on slim Debian as a non-root user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --bin radial

FROM debian:bookworm-slim
RUN useradd --create-home --uid 10001 radial
COPY --from=build /src/target/release/radial /usr/local/bin/radial
COPY pipelines /opt/radial/pipelines
COPY data-manifests /opt/radial/data-manifests
USER radial
WORKDIR /home/radial
ENTRYPOINT ["radial"]
CMD ["--help"]
