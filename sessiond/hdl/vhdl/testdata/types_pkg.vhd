-- Shared types for the stream designs.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

-- Types, constants and components used across the design.
package types_pkg is
  -- Width of a data word.
  constant DATA_W : natural := 8;
  constant DEPTH  : positive := 16; -- default FIFO depth

  -- Controller state.
  type state_t is (IDLE, LOAD, RUN, DONE);

  subtype word_t is std_logic_vector(DATA_W-1 downto 0);
  subtype count_t is integer range 0 to 255;
  type word_array_t is array (natural range <>) of word_t;
  type mem_t is array (0 to DEPTH-1) of word_t;

  -- One beat of a stream.
  type beat_t is record
    data  : word_t;     -- payload
    valid : std_logic;
    last  : std_logic;
    id    : unsigned(3 downto 0);
  end record beat_t;

  constant BEAT_IDLE : beat_t := (data => (others => '0'), valid => '0', last => '0', id => (others => '0'));

  component fifo is
    generic (
      WIDTH : natural := 8;
      DEPTH : positive := 16
    );
    port (
      clk   : in  std_logic;
      rst   : in  std_logic;
      din   : in  std_logic_vector(WIDTH-1 downto 0);
      wr    : in  std_logic;
      rd    : in  std_logic;
      dout  : out std_logic_vector(WIDTH-1 downto 0);
      full  : out std_logic;
      empty : out std_logic
    );
  end component fifo;

  function parity(v : std_logic_vector) return std_logic;
  function clog2(n : positive) return natural;
  procedure inc(signal c : inout unsigned; constant step : in natural := 1);
  function "+"(a : beat_t; b : natural) return beat_t;
end package types_pkg;

package body types_pkg is

  function parity(v : std_logic_vector) return std_logic is
    variable p : std_logic := '0';
  begin
    for i in v'range loop
      p := p xor v(i);
    end loop;
    return p;
  end function parity;

  function clog2(n : positive) return natural is
    variable r : natural := 0;
    variable x : natural := 1;
  begin
    while x < n loop
      x := x * 2;
      r := r + 1;
    end loop;
    return r;
  end function;

  procedure inc(signal c : inout unsigned; constant step : in natural := 1) is
  begin
    c <= c + step;
  end procedure inc;

  function "+"(a : beat_t; b : natural) return beat_t is
    variable r : beat_t := a;
  begin
    r.data := std_logic_vector(unsigned(a.data) + b);
    return r;
  end function "+";

end package body types_pkg;
