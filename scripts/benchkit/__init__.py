"""scripts/bench's parts (standard library only; docs/bench.md says what each measures):

* common: paths, running commands, the temp directories;
* memory: running overlay-gen with its peak RSS and CPU time measured;
* fixtures: which fixtures the build rows measure, their bench.toml, the one-line edit;
* builds: the build rows (cold, warm with nothing changed, warm after a one-line edit);
* scaling: the synthetic module of 100 and 1,000 packages;
* runtime: the runtime row (requests per second) and the scheduler row;
* report: issue 7's targets and the table;
* cli: the command line.
"""
