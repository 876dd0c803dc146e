// Package cliflag holds the flag.Value types the Gatewave commands share:
// repeatable strings (--allow-origin) and repeatable key=value pairs
// (--label).
package cliflag

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Strings collects a repeatable flag's values in order.
type Strings []string

func (s *Strings) String() string     { return strings.Join(*s, ",") }
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// KeyValues collects a repeatable key=value flag; a later key wins.
type KeyValues map[string]string

func (kv KeyValues) String() string {
	keys := slices.Sorted(maps.Keys(kv))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + kv[k]
	}
	return strings.Join(parts, ",")
}

func (kv KeyValues) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want key=value", v)
	}
	kv[k] = val
	return nil
}
