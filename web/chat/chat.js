// Placeholder for the H5 chat page (replaced by the chat page implementation).
document.getElementById("chat").textContent = "在线客服";
