"""The lab: benchmarks, memory budget, chaos, fleet and its simulation, probes; figures in RESULTS.md (LAB.md)."""
