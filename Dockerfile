# Multi-stage build: compile with cargo, train a demo model on the synthetic
# cohort, run on slim Debian as a non-root user. Classic builder syntax only.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY tests ./tests
COPY pipelines ./pipelines
RUN cargo build --release --locked --bin radial \
    && strip target/release/radial
# The demo model: the example study (`radial demo`) trained on 60 synthetic
# cases. It is labelled as synthetic and not for diagnosis, and served under
# that name.
RUN target/release/radial demo --dir /demo > /demo.log \
    && mkdir -p /opt/radial/models \
    && sed '0,/{/s//{\n  "name": "synthetic-liver-demo",\n  "intended_use": "DEMONSTRATION ONLY: trained on a synthetic cohort (radial synth); not for diagnosis.",/' \
       /demo/results/train.model.json > /opt/radial/models/synthetic-liver-demo.model.json

FROM debian:bookworm-slim
RUN useradd --create-home --uid 10001 radial && mkdir -p /models && chown radial /models
COPY --from=build /src/target/release/radial /usr/local/bin/radial
COPY --from=build /opt/radial/models /opt/radial/models
COPY pipelines /opt/radial/pipelines
COPY data-manifests /opt/radial/data-manifests
# `radial serve` without --model serves every *.model.json found here: the
# user's volume first, then the demo model.
ENV RADIAL_MODELS=/models:/opt/radial/models
USER radial
WORKDIR /home/radial
EXPOSE 8080
# No curl in the image: radial probes itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["radial", "serve", "probe", "--path", "/healthz"]
ENTRYPOINT ["radial"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
