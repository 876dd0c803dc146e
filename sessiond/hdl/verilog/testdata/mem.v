// Memory with initialisation, signed arithmetic and real/time variables.
module mem #(parameter AW = 4, parameter DW = 8, parameter INIT_FILE = "") (
    input clk,
    input we,
    input [AW-1:0] addr,
    input [DW-1:0] wdata,
    output reg [DW-1:0] rdata,
    output signed [DW-1:0] shifted
);
    reg [DW-1:0] ram [0:(1<<AW)-1];
    reg signed [DW-1:0] s;
    real ratio;
    time t0;
    integer n;

    initial begin
        for (n = 0; n < (1 << AW); n = n + 1)
            ram[n] = {DW{1'b0}};
        if (INIT_FILE != "")
            $readmemh(INIT_FILE, ram);
        ratio = 1.5e-3;
        t0 = $time;
        s = -8'sd3;
    end

    always @(posedge clk) begin
        if (we)
            ram[addr] <= wdata;
        rdata <= ram[addr];
    end

    assign shifted = s >>> 1;
endmodule
