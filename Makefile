# Shortcuts for the README's commands.
.PHONY: run test test-sanitize bench format
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
test-sanitize:
	bash scripts/test.sh --sanitize
bench:
	bash bench/run.sh
format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
