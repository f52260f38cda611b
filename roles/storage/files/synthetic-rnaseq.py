#!/usr/bin/env python3
"""Writes a small synthetic, de-identified RNA-seq data set (runbook Step 0).

    synthetic-rnaseq.py --out DIR --bucket BUCKET [--samples 4] [--pairs 2000] [--seed 1]

Nothing in it comes from a person: the "genes" are random sequences, the
reads are sampled from them. Two conditions with replicates, some genes
differentially expressed, so a pipeline run on it gives a non-trivial result.

Writes, under DIR:
    raw-data/synthetic/<sample>_R1.fastq.gz, <sample>_R2.fastq.gz   paired-end reads
    raw-data/synthetic/samplesheet.csv      nf-core/rnaseq sample sheet (s3:// paths)
    reference/synthetic/genome.fa, transcripts.fa, genes.gtf
    raw-data/synthetic/README.txt
and prints a JSON manifest ([{"key": ..., "src": ...}]) on stdout. The same
arguments always give byte-identical files (gzip without timestamps), so a
second upload finds nothing to do.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import sys
from pathlib import Path

VERSION = "1"
READ_LENGTH = 75
FRAGMENT_MEAN, FRAGMENT_SD = 220, 30
GENES = 12
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def revcomp(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


def make_genes(rng: random.Random) -> list[tuple[str, str]]:
    return [(f"SYNG{index + 1:04d}", "".join(rng.choice("ACGT") for _ in range(rng.randint(800, 1600)))) for index in range(GENES)]


def samples(count: int) -> list[tuple[str, str]]:
    """(name, condition) per sample: the first half control, the rest treated."""
    half = count // 2
    result = []
    for index in range(count):
        condition, replicate = ("control", index + 1) if index < half else ("treated", index - half + 1)
        result.append((f"{condition}_rep{replicate}", condition))
    return result


def expression(genes, condition: str) -> list[float]:
    """Relative abundance per gene; genes 1-3 up and 4-5 down when treated."""
    weights = []
    for index, _gene in enumerate(genes):
        weight = 1.0 + index % 4
        if condition == "treated":
            weight *= 4.0 if index < 3 else (0.25 if index < 5 else 1.0)
        weights.append(weight)
    return weights


def fastq_gz(records) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as handle:
        for record in records:
            handle.write(record.encode("ascii"))
    return buffer.getvalue()


def quality(rng: random.Random) -> str:
    return "".join("I" if rng.random() > 0.05 else rng.choice("5?@") for _ in range(READ_LENGTH))


def reads(rng, genes, weights, pairs, sample_index):
    r1, r2 = [], []
    for number in range(pairs):
        name, sequence = rng.choices(genes, weights=weights)[0]
        length = max(READ_LENGTH, min(len(sequence), int(rng.gauss(FRAGMENT_MEAN, FRAGMENT_SD))))
        start = rng.randint(0, len(sequence) - length)
        fragment = sequence[start : start + length]
        header = f"@SYNTH:{sample_index}:FC0001:1:1101:{number // 1000 + 1}:{number % 1000 + 1}"
        r1.append(f"{header} 1:N:0:1\n{fragment[:READ_LENGTH]}\n+\n{quality(rng)}\n")
        r2.append(f"{header} 2:N:0:1\n{revcomp(fragment)[:READ_LENGTH]}\n+\n{quality(rng)}\n")
    return r1, r2


def write(out: Path, key: str, data: bytes, manifest: list) -> None:
    """Writes `data` at out/key unless it is there already, whole. A new file is
    written aside and renamed into place, so a run beside this one (the tests
    run two at a time) never reads or uploads a half-written file."""
    path = out / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.is_file() and path.read_bytes() == data):
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(data)
        os.replace(partial, path)
    manifest.append({"key": key, "src": str(path)})


def generate(out: Path, bucket: str, count: int, pairs: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    genes = make_genes(rng)
    manifest: list[dict] = []
    raw, ref = "raw-data/synthetic/", "reference/synthetic/"

    fasta = "".join(f">{name}\n{sequence}\n" for name, sequence in genes).encode()
    write(out, ref + "genome.fa", fasta, manifest)
    write(out, ref + "transcripts.fa", "".join(f">{name}.t1\n{sequence}\n" for name, sequence in genes).encode(), manifest)
    gtf = "".join(
        f'{name}\tsynthetic\t{feature}\t1\t{len(sequence)}\t.\t+\t.\tgene_id "{name}"; '
        + (f'transcript_id "{name}.t1"; ' if feature != "gene" else "")
        + f'gene_name "{name}"; gene_biotype "protein_coding";\n'
        for name, sequence in genes
        for feature in ("gene", "transcript", "exon")
    )
    write(out, ref + "genes.gtf", gtf.encode(), manifest)

    sheet = ["sample,fastq_1,fastq_2,strandedness"]
    for index, (sample, condition) in enumerate(samples(count), start=1):
        r1, r2 = reads(rng, genes, expression(genes, condition), pairs, index)
        for mate, records in (("R1", r1), ("R2", r2)):
            write(out, f"{raw}{sample}_{mate}.fastq.gz", fastq_gz(records), manifest)
        sheet.append(f"{sample},s3://{bucket}/{raw}{sample}_R1.fastq.gz,s3://{bucket}/{raw}{sample}_R2.fastq.gz,auto")
    write(out, raw + "samplesheet.csv", ("\n".join(sheet) + "\n").encode(), manifest)
    readme = (
        f"Synthetic RNA-seq data set, version {VERSION} (seed {seed}), written by the RNA-seq HIPAA toolkit.\n"
        "No part of it comes from a person: genes are random sequences and reads are sampled from them.\n"
        f"{count} samples (control and treated), {pairs} read pairs each, {READ_LENGTH} bp paired-end.\n"
        "Genes SYNG0001-0003 are up and SYNG0004-0005 down in treated samples.\n"
    )
    write(out, raw + "README.txt", readme.encode(), manifest)
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.samples < 2 or args.pairs < 1:
        parser.error("--samples must be at least 2 and --pairs at least 1")
    json.dump(generate(args.out, args.bucket, args.samples, args.pairs, args.seed), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
