library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity alu is
  generic (W : positive := 8);
  port (
    a, b   : in  unsigned(W-1 downto 0);
    op     : in  std_logic_vector(2 downto 0);
    y      : out unsigned(W-1 downto 0);
    zero   : out std_logic;
    carry  : buffer std_logic
  );
end entity;

architecture behav of alu is
  signal sum : unsigned(W downto 0);
  signal res : unsigned(W-1 downto 0);
  constant ALL_ZERO : unsigned(W-1 downto 0) := (others => '0');
begin
  sum <= resize(a, W+1) + resize(b, W+1);

  with op select res <=
    sum(W-1 downto 0)   when "000",
    a - b               when "001",
    a and b             when "010",
    a or b              when "011",
    a xor b             when "100",
    shift_left(a, 1)    when "101",
    a srl 1             when "110",
    not a               when others;

  y <= res;
  zero <= '1' when res = ALL_ZERO else '0';

  carry_p : process (all)
  begin
    case op is
      when "000" =>
        carry <= sum(W);
      when "001" | "010" =>
        carry <= '0';
      when others =>
        carry <= '0';
    end case;
  end process;
end architecture behav;
