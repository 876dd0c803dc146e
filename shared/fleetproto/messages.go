package fleetproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Type names a control message.
type Type string

// Control message types.
const (
	TypeRegister     Type = "register"      // gateway → cloud, first message
	TypeRegistered   Type = "registered"    // cloud → gateway, reply to register
	TypeHeartbeat    Type = "heartbeat"     // gateway → cloud
	TypeHeartbeatAck Type = "heartbeat_ack" // cloud → gateway
	TypeCommand      Type = "command"       // cloud → gateway
	TypeAck          Type = "ack"           // gateway → cloud, reply to command
	TypeStatus       Type = "status"        // gateway → cloud, unsolicited
	TypeError        Type = "error"         // either way, before closing
	TypePool         Type = "pool"          // gateway → cloud, the warm pool's state
)

// Envelope is the JSON shape of every control message.
type Envelope struct {
	Type Type            `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Message is a decoded control message: one of the pointer types below.
type Message interface{ messageType() Type }

// Register is the gateway's first message on the control stream.
type Register struct {
	// Name must equal the name the node's token was issued for.
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Protocol  int               `json:"protocol"`
	Resources Resources         `json:"resources"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Resources is what a node offers.
type Resources struct {
	CPUCores    int    `json:"cpu_cores"`
	MemoryBytes uint64 `json:"memory_bytes"`
	DiskBytes   uint64 `json:"disk_bytes"`
	GPUs        []GPU  `json:"gpus,omitempty"`
	// PoolCPUs and PoolMemoryBytes are what the node's warm pool of IDE
	// containers holds of the above: batch tasks are given the rest.
	PoolCPUs        float64 `json:"pool_cpus,omitempty"`
	PoolMemoryBytes uint64  `json:"pool_memory_bytes,omitempty"`
}

// GPU is one accelerator as nvidia-smi reports it.
type GPU struct {
	Index       int    `json:"index"`
	Name        string `json:"name"`
	UUID        string `json:"uuid,omitempty"`
	MemoryBytes uint64 `json:"memory_bytes"`
}

// Registered accepts a registration.
type Registered struct {
	NodeID int64 `json:"node_id"`
	// HeartbeatIntervalMS is how often the gateway must send a heartbeat.
	HeartbeatIntervalMS int64  `json:"heartbeat_interval_ms"`
	Replica             string `json:"replica"`
}

// Heartbeat says the node is alive. Seq increases by one per heartbeat.
type Heartbeat struct {
	Seq uint64 `json:"seq"`
}

// HeartbeatAck answers a Heartbeat with the same Seq.
type HeartbeatAck struct {
	Seq uint64 `json:"seq"`
}

// Command asks the gateway to do something; it answers with an Ack of the
// same ID.
type Command struct {
	ID   uint64          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Ack answers a Command.
type Ack struct {
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Status is an unsolicited update of the node's state.
type Status struct {
	Resources *Resources `json:"resources,omitempty"`
	Load1     float64    `json:"load1"`
}

// Error reports a protocol error; the sender closes the connection after it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (*Register) messageType() Type     { return TypeRegister }
func (*Registered) messageType() Type   { return TypeRegistered }
func (*Heartbeat) messageType() Type    { return TypeHeartbeat }
func (*HeartbeatAck) messageType() Type { return TypeHeartbeatAck }
func (*Command) messageType() Type      { return TypeCommand }
func (*Ack) messageType() Type          { return TypeAck }
func (*Status) messageType() Type       { return TypeStatus }
func (*Error) messageType() Type        { return TypeError }
func (*Pool) messageType() Type         { return TypePool }

// TypeOf returns m's type.
func TypeOf(m Message) Type { return m.messageType() }

func newMessage(t Type) Message {
	switch t {
	case TypeRegister:
		return new(Register)
	case TypeRegistered:
		return new(Registered)
	case TypeHeartbeat:
		return new(Heartbeat)
	case TypeHeartbeatAck:
		return new(HeartbeatAck)
	case TypeCommand:
		return new(Command)
	case TypeAck:
		return new(Ack)
	case TypeStatus:
		return new(Status)
	case TypeError:
		return new(Error)
	case TypePool:
		return new(Pool)
	case TypeTaskUpdate:
		return new(TaskUpdate)
	case TypeTaskLog:
		return new(TaskLog)
	case TypeStats:
		return new(Stats)
	}
	return nil
}

// ErrUnknownType is wrapped by Decode for a message type it does not know.
var ErrUnknownType = errors.New("unknown message type")

var (
	nodeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)
)

// ValidNodeName reports whether s is a valid node name: lower-case letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 63 bytes.
func ValidNodeName(s string) bool { return nodeNameRE.MatchString(s) }

// ValidateLabels checks label keys and values.
func ValidateLabels(l map[string]string) error {
	if len(l) > 64 {
		return fmt.Errorf("%d labels, at most 64 allowed", len(l))
	}
	for k, v := range l {
		if !labelKeyRE.MatchString(k) {
			return fmt.Errorf("label key %q is not valid", k)
		}
		if len(v) > 256 {
			return fmt.Errorf("label %q: value longer than 256 bytes", k)
		}
	}
	return nil
}

// validate checks a decoded message's fields.
func validate(m Message) error {
	switch m := m.(type) {
	case *Register:
		if !ValidNodeName(m.Name) {
			return fmt.Errorf("register: node name %q is not valid", m.Name)
		}
		if len(m.Version) > 64 {
			return errors.New("register: version longer than 64 bytes")
		}
		if m.Protocol != Version {
			return fmt.Errorf("register: protocol %d not supported (want %d)", m.Protocol, Version)
		}
		if len(m.Resources.GPUs) > 64 {
			return errors.New("register: more than 64 GPUs")
		}
		return ValidateLabels(m.Labels)
	case *Registered:
		if m.HeartbeatIntervalMS <= 0 {
			return errors.New("registered: heartbeat interval must be positive")
		}
	case *Command:
		if m.Name == "" {
			return errors.New("command: empty name")
		}
	case *TaskUpdate:
		return m.validate()
	case *TaskLog:
		return m.validate()
	case *Stats:
		return m.validate()
	case *Pool:
		if len(m.Containers) > MaxPoolContainers {
			return fmt.Errorf("pool: %d containers, at most %d", len(m.Containers), MaxPoolContainers)
		}
		for _, c := range m.Containers {
			if err := c.validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Decode parses one control message payload. Unknown types, unknown
// fields, missing data and invalid field values are errors.
func Decode(b []byte) (Message, error) {
	var env Envelope
	if err := decodeStrict(b, &env); err != nil {
		return nil, fmt.Errorf("decode control message: %w", err)
	}
	m := newMessage(env.Type)
	if m == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, env.Type)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil, fmt.Errorf("decode %s: missing data", env.Type)
	}
	if err := decodeStrict(env.Data, m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", env.Type, err)
	}
	if err := validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// Encode returns m's frame payload.
func Encode(m Message) ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.messageType(), err)
	}
	return json.Marshal(Envelope{Type: m.messageType(), Data: data})
}

// ReadMessage reads and decodes one control message frame.
func ReadMessage(r io.Reader) (Message, error) {
	b, err := ReadFrame(r)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// WriteMessage writes m as one frame. Callers serialize writes on a stream.
func WriteMessage(w io.Writer, m Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	return WriteFrame(w, json.RawMessage(b))
}
