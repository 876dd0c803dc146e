library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity gen2008 is
  generic (
    MODE  : natural := 1;
    WIDTH : natural := 8;
    type elem_t;
    INIT  : boolean := false
  );
  port (
    clk : in std_logic;
    sel : in std_logic_vector(1 downto 0);
    a   : in std_logic_vector(WIDTH-1 downto 0);
    b   : in std_logic_vector(WIDTH-1 downto 0);
    y   : out std_logic_vector(WIDTH-1 downto 0);
    m   : out std_logic
  );
end entity gen2008;

architecture rtl of gen2008 is
  signal r : std_logic_vector(WIDTH-1 downto 0);
  signal v : std_logic;
begin
  mode_g : if m0 : MODE = 0 generate
    r <= a;
  elsif m1 : MODE = 1 generate
    signal t : std_logic_vector(WIDTH-1 downto 0);
  begin
    t <= a xor b;
    r <= t;
  end m1;
  else m2 : generate
    r <= b;
  end generate mode_g;

  sel_g : case MODE generate
    when c0 : 0 =>
      v <= '0';
    when c1 : 1 | 2 =>
      v <= a(0) ?= b(0);
    when others =>
      v <= '1';
  end generate sel_g;

  comb : process (all)
    variable acc : std_logic_vector(WIDTH-1 downto 0);
  begin
    acc := r when sel = "00" else not r;
    case? sel is
      when "1-" => y <= acc;
      when others => y <= (others => '0');
    end case?;
    if ?? v then
      m <= and acc;
    else
      m <= or acc;
    end if;
  end process comb;
end architecture rtl;
