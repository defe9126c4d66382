#!/usr/bin/env bats
# The --state files (issue 16.5-16.7): every one a pipeline or paginate reads is checked —
# cut short, edited or damaged, it is refused with one line naming it and what to do, exit
# 1 — and a run holds its state locked: a second run on it exits 75 naming the holder.
load helpers
pipeline_suite

card() { emu_ctl info | jq -r --arg n "$1" '.cards[] | select(.name == $n) | .id'; }

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "state: a docsvision-card STATE.cursor cut short is one line naming it, exit 1; removed, the next run is exact" {
	reset 'docsvision_records=400&docsvision_page_kb=4&latency=40'
	kill_when state.run '.pages >= 2' -- docsvision-card --base-url "$EMU" -q --state state -o out "$(card big)"
	head -c 20 state.cursor >cut && mv cut state.cursor
	run -1 docsvision-card --base-url "$EMU" -q --state state -o out "$(card big)"
	assert_output "docsvision-card: state.cursor: not a state file of docsvision-card (cut short or damaged); remove it to start over"
	rm -f state.cursor
	run -0 docsvision-card --base-url "$EMU" -q --state state -o out "$(card big)"
	same_as_truth out 'docsvision?card=big'
}

@test "state: a page 1 kept beside a cursor that does not match its checksum is refused" {
	reset 'docsvision_records=400&docsvision_page_kb=4&latency=40'
	kill_when state.run '.pages >= 2' -- docsvision-card --base-url "$EMU" -q --state state -o out "$(card big)"
	printf '<row/>' >>state.first
	run -1 docsvision-card --base-url "$EMU" -q --state state -o out "$(card big)"
	assert_output "docsvision-card: state.first: damaged (its checksum does not match); remove it to start over"
}

@test "state: a paginate checkpoint whose offset was edited is refused, exit 1, one line" {
	export TOTAL=30
	paginate --page-size 10 --total-field total --max-pages 1 --state st -o out -q -- \
		sh -c 'i=$PAGE_OFFSET; while [ $i -lt $((PAGE_OFFSET + 10)) ] && [ $i -lt $TOTAL ]; do echo "{\"id\":$i}"; i=$((i + 1)); done; printf "\036{\"total\":%s}\n" $TOTAL'
	sed -i 's/"offset":10/"offset":20/' st
	run -1 paginate --page-size 10 --total-field total --state st -o out -- true
	assert_output "paginate: st: damaged (its checksum does not match); remove it to start over"
	head -c 30 st >cut
	run -1 paginate --page-size 10 --total-field total --state cut -o out -- true
	assert_output "paginate: cut: not a paginate state file (no checksum); remove it to start over"
}

@test "state: a pipeline's own state or checkpoint edited is refused, exit 1" {
	reset records=200
	mercury-products --base-url "$EMU" -q --count 10 --type 1 --max-pages 1 --state st -o out
	sed -i 's/"offset":10/"offset":30/' st.run.type1
	run -1 mercury-products --base-url "$EMU" -q --count 10 --type 1 --state st -o out
	assert_line --index 0 "paginate: st.run.type1: damaged (its checksum does not match); remove it to start over"
	rm st.run.type1
	run -0 mercury-products --base-url "$EMU" -q --count 10 --type 1 --state st -o out
	same_as_truth out 'mercury?productType=1'
	sed -i 's/"records":[0-9]*/"records":1/' st
	run -1 mercury-products --base-url "$EMU" -q --count 10 --type 1 --state st -o out
	assert_output "mercury-products: st: damaged (its checksum does not match); remove it to start over"
	echo '{}' >st
	run -1 mercury-products --base-url "$EMU" -q --count 10 --type 1 --state st -o out
	assert_output "mercury-products: st: not a state file of mercury-products (cut short or damaged); remove it to start over"
}

@test "state: a second run on the same --state exits 75 naming the first one's pid" {
	reset 'records=200&latency=60'
	mercury-products --base-url "$EMU" -q --count 10 --type 1 --state st -o out &
	local pid=$! i
	for i in $(seq 1 200); do [ -s st.run.type1 ] && break; sleep 0.05; done
	run -75 mercury-products --base-url "$EMU" -q --count 10 --type 1 --state st -o out2
	assert_output "mercury-products: st: in use by another run (pid $pid); wait for it to end"
	wait "$pid"
	same_as_truth out 'mercury?productType=1'
	[ ! -e out2 ]
	# paginate's own lock on its checkpoint
	paginate -q -s cursor --token-field next --state pst -o pout -- sleep 30 &
	pid=$!
	for i in $(seq 1 200); do [ -s pst.lock ] && break; sleep 0.05; done
	run -75 paginate -q -s cursor --token-field next --state pst -o pout -- true
	assert_output "paginate: pst: in use by another run (pid $pid)"
	kill "$pid"
	wait "$pid" || true
}
