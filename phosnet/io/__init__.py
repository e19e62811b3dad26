"""Readers and writers: FASTA, site tables, atomic outputs. Never imports TensorFlow."""

from phosnet.io.atomic import atomic_output
from phosnet.io.fasta import Protein, read_fasta, read_proteins
from phosnet.io.sites import read_sites

__all__ = ["Protein", "atomic_output", "read_fasta", "read_proteins", "read_sites"]
