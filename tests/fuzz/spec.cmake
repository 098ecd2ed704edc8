# the spec loader: YAML, extends, --set, parameters, plan, resolved spec round trip
pure_fuzzer(spec pure_cli)
