package tasks

import (
	"fmt"
	"sort"
	"strconv"
)

// gpuSet hands a node's GPUs to tasks, each to one task at a time: a
// request by count alone would give every task the same first devices.
type gpuSet struct {
	free map[string]bool // device id (index or UUID) → free
}

func newGPUSet(ids []string) *gpuSet {
	g := &gpuSet{free: map[string]bool{}}
	for _, id := range ids {
		g.free[id] = true
	}
	return g
}

// take reserves n devices; the caller holds Runner.mu.
func (g *gpuSet) take(n int) ([]string, error) {
	var ids []string
	for id, free := range g.free {
		if free {
			ids = append(ids, id)
		}
	}
	if len(ids) < n {
		return nil, fmt.Errorf("the task needs %d GPUs and %d of this node's %d are free", n, len(ids), len(g.free))
	}
	sort.Slice(ids, func(i, j int) bool { return gpuLess(ids[i], ids[j]) })
	ids = ids[:n]
	for _, id := range ids {
		g.free[id] = false
	}
	return ids, nil
}

// give returns devices; the caller holds Runner.mu.
func (g *gpuSet) give(ids []string) {
	for _, id := range ids {
		if _, ok := g.free[id]; ok {
			g.free[id] = true
		}
	}
}

func gpuLess(a, b string) bool {
	ai, aerr := strconv.Atoi(a)
	bi, berr := strconv.Atoi(b)
	if aerr == nil && berr == nil {
		return ai < bi
	}
	return a < b
}
