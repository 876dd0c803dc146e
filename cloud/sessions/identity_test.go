package sessions

import "testing"

func TestGitIdentity(t *testing.T) {
	s := &Service{opts: Options{GitURL: "http://127.0.0.1:8480/git"}}
	if id := s.gitIdentity("alice"); id == nil || id.Name != "alice" || id.Email != "alice@users.127.0.0.1" {
		t.Fatalf("derived identity = %+v", id)
	}
	s.opts.EmailDomain = "users.gatewave.example"
	if id := s.gitIdentity("bob"); id == nil || id.Email != "bob@users.gatewave.example" {
		t.Fatalf("configured identity = %+v", id)
	}
	s.opts.EmailDomain = "x\n[core]"
	if id := s.gitIdentity("bob"); id != nil {
		t.Fatalf("an identity with a newline: %+v", id)
	}
}
