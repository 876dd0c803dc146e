library ieee;
use ieee.std_logic_1164.all;

entity hides is
	port (a : in std_logic; y : out std_logic);
end entity;

architecture rtl of hides is
	signal never_used : std_logic;
begin
	process
		variable a : integer;
	begin
		y <= '0';
		wait;
	end process;
end architecture;
