// Verilog-1995 style module with non-ANSI ports, tasks and functions.
module nonansi (clk, rst, a, b, sel, y, flag);
    input clk, rst;
    input [7:0] a, b;
    input [1:0] sel;
    output [7:0] y;
    output flag;
    reg [7:0] y;
    reg flag;

    integer i;
    reg [3:0] ones;
    reg [7:0] tmp;

    // count the ones in a byte
    function [3:0] popcount;
        input [7:0] v;
        integer k;
        begin
            popcount = 0;
            for (k = 0; k < 8; k = k + 1)
                popcount = popcount + v[k];
        end
    endfunction

    task clear;
        output [7:0] o;
        begin
            o = 8'h00;
        end
    endtask

    always @(posedge clk) begin
        if (rst) begin
            clear(tmp);
            y <= tmp;
            flag <= 1'b0;
        end else begin
            case (sel)
                2'b00: y <= a & b;
                2'b01: y <= a | b;
                2'b10, 2'b11: y <= a ^ b;
                default: y <= 8'bx;
            endcase
            casez (a[3:0])
                4'b1???: flag <= 1'b1;
                4'b01??: flag <= 1'b0;
                default: flag <= flag;
            endcase
        end
    end

    always @(a) begin
        ones = popcount(a);
        i = 0;
        while (i < 4) i = i + 1;
        repeat (2) i = i - 1;
        casex (b)
            8'b1xxx_xxxx: i = 1;
            default: i = 2;
        endcase
    end
endmodule
