class item;
  rand bit [7:0] v;
  function void show(); $display("%0d", v); endfunction
endclass
module sv_tb;
  logic clk = 0;
  bus_if b (.clk(clk));
  sv_top dut (.clk(clk), .bus(b));
  initial begin
    item it = new;
    #5 clk = 1;
    it.show();
    $finish;
  end
endmodule
