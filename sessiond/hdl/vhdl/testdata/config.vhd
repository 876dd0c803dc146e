context work.base_ctx;

entity cfg_top is
  port (clk : in std_logic; q : out std_logic);
end entity;

architecture a of cfg_top is
  component counter is
    generic (N : positive := 4; RESET_V : natural := 0);
    port (
      clk, rst : in std_logic;
      en       : in std_logic;
      up       : in std_logic := '1';
      load     : in std_logic;
      d        : in unsigned(N-1 downto 0);
      q        : buffer unsigned(N-1 downto 0);
      wrap     : out boolean
    );
  end component;
  signal cq : unsigned(3 downto 0);
begin
  c0 : counter
    generic map (N => 4)
    port map (clk => clk, rst => '0', en => '1', load => '0', d => "0000", q => cq, wrap => open);
  q <= cq(3);
end architecture a;

configuration cfg_top_cfg of cfg_top is
  for a
    for c0 : counter
      use entity work.counter(rtl);
    end for;
  end for;
end configuration cfg_top_cfg;
