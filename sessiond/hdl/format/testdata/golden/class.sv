class packet extends base_item;
rand bit [7:0] len;
  rand bit [7:0] payload [];
local int id;
static int count = 0;
constraint c_len {
len inside {[1:64]};
payload.size() == len;
}

function new(string name = "packet");
super.new(name);
id = count++;
endfunction

extern virtual function void print();
pure virtual task send(ref int x);

virtual task run();
fork
begin
#10 $display("a");
end
begin : second
#20 $display("b");
end : second
join_none
wait fork;
foreach (payload[i])
payload[i] = i;
endtask
endclass

typedef class other;

function void packet::print();
$display("len=%0d", len);
endfunction
