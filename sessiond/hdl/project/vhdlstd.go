package project

import "strings"

// vhdlNames are what std.standard, ieee.std_logic_1164, ieee.numeric_std
// and ieee.math_real declare that designs use by name: types, functions
// and literals that need no declaration in the workspace.
var vhdlNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`
boolean bit character integer natural positive real time string bit_vector boolean_vector integer_vector real_vector time_vector
severity_level file_open_kind file_open_status delay_length true false note warning error failure
ns ps fs us ms sec min hr now
std_logic std_ulogic std_logic_vector std_ulogic_vector x01 x01z ux01 ux01z resolved
rising_edge falling_edge to_bit to_bitvector to_stdulogic to_stdlogicvector to_stdulogicvector to_x01 to_x01z to_ux01 is_x
unsigned signed unresolved_unsigned unresolved_signed to_integer to_unsigned to_signed resize shift_left shift_right rotate_left rotate_right std_match
to_01 find_leftmost find_rightmost minimum maximum
to_string to_hstring to_ostring to_bstring
ceil floor round trunc sqrt log2 log10 exp realmax realmin uniform sign math_pi
read write readline writeline line text input output endfile hread hwrite oread owrite
conv_integer conv_std_logic_vector conv_unsigned conv_signed ext sxt
`) {
		m[n] = true
	}
	return m
}()

func vhdlPredefined(name string) bool { return vhdlNames[strings.ToLower(name)] }
