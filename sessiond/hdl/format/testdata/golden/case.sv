module fsm (
input logic clk, rst_n,
input logic [1:0] op,
output logic [3:0] out
);
typedef enum logic [1:0] {S0, S1, S2} state_t;
state_t state, next;

always_comb begin
next = state;
unique case (state)
S0: if (op == 2'b01) next = S1;
S1:
next = S2;
S2: begin
next = S0;
end
default: next = S0;
endcase
end

always_comb
casez (op)
2'b1?: out = 4'h1;
2'b01: out = 4'h2;
default: out = '0;
endcase

always_comb begin
case (op) inside
[2'b00:2'b01]: out = 1;
default: out = 0;
endcase
end

always_ff @(posedge clk or negedge rst_n)
if (!rst_n) state <= S0;
else state <= next;
endmodule
