-- A context bundling the usual libraries.
context base_ctx is
  library ieee;
  use ieee.std_logic_1164.all;
  use ieee.numeric_std.all;
end context base_ctx;
