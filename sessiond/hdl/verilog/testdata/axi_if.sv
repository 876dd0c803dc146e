// A small valid/ready interface with modports.
interface axi_if #(parameter int W = 8) (input logic clk);
    logic         valid;
    logic         ready;
    logic [W-1:0] data;

    modport master (output valid, output data, input ready, input clk);
    modport slave  (input valid, input data, output ready, input clk);
endinterface

module producer (axi_if.master m, input logic rst_n);
    always_ff @(posedge m.clk or negedge rst_n) begin
        if (!rst_n) begin
            m.valid <= 1'b0;
            m.data  <= '0;
        end else if (m.ready) begin
            m.valid <= 1'b1;
            m.data  <= m.data + 1'b1;
        end
    end
endmodule

module consumer (axi_if.slave s, output logic [7:0] last);
    assign s.ready = 1'b1;
    always_ff @(posedge s.clk) begin
        if (s.valid && s.ready) last <= s.data;
    end
endmodule

module axi_top (input logic clk, input logic rst_n, output logic [7:0] last);
    axi_if #(.W(8)) bus (.clk(clk));
    producer u_p (.m(bus), .rst_n);
    consumer u_c (.s(bus), .*);
endmodule
