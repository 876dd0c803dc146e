package langserver

import (
	"encoding/json"

	"gatewave.dev/sessiond/hdl/project"
)

// HierNode is one row of gatewave/hierarchy.
type HierNode struct {
	Name     string      `json:"name"`
	Module   string      `json:"module"`
	URI      string      `json:"uri"`
	Range    Range       `json:"range"`
	Params   []HierParam `json:"params,omitempty"`
	Missing  bool        `json:"missing,omitempty"`
	Children []*HierNode `json:"children"`
}

type HierParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// hierarchy answers gatewave/hierarchy: the tops (never instantiated, or
// the configured top) and the instance tree under each, with parameters.
func (s *Server) hierarchy(json.RawMessage) (any, error) {
	var tops []*HierNode
	s.proj.View(func(v *project.Snapshot) {
		var conv func(n *project.Node) *HierNode
		conv = func(n *project.Node) *HierNode {
			h := &HierNode{Name: n.Name, Module: n.Module, Missing: n.Missing, Children: []*HierNode{}}
			if n.Span.Valid() {
				loc := s.location(v, n.Span)
				h.URI, h.Range = loc.URI, loc.Range
			}
			for _, p := range n.Params {
				h.Params = append(h.Params, HierParam{Name: p.Name, Value: p.Value})
			}
			for _, c := range n.Children {
				h.Children = append(h.Children, conv(c))
			}
			return h
		}
		for _, n := range v.Hierarchy() {
			tops = append(tops, conv(n))
		}
	})
	return map[string]any{"tops": orEmpty(tops)}, nil
}
