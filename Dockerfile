# mamba-dna on Debian 12 (bookworm) with the Swift toolchain: builds the release binary, installs it with the
# bundled models and completions into /usr/local (scripts/setup --prefix), removes the build tree, runs the demo.
#   docker build -t mamba-dna .
#   docker run --rm mamba-dna                                   # the demo
#   docker run --rm -v "$PWD:/data" -w /data mamba-dna mamba-dna classify reads.fa
FROM swift:6.3-bookworm
WORKDIR /src
COPY . .
RUN scripts/setup --prefix /usr/local && rm -rf /src/.build
WORKDIR /
CMD ["/usr/local/share/mamba-dna/demo/run"]
